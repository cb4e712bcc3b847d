"""The buyer's shop (the catalogue is a demo stand-in for the real product list)."""
