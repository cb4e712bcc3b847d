"""Promotions and Messages: what sellers tell their buyers after login.

- `schedule`: status from the clock, the one function that keeps the stored status in step,
  Publish, and the scheduler's sweep;
- `buyers`: what a buyer sees (the window rule) and reads;
- `admin`: what staff do (save, copy, delete, history, preview);
- `content`: sanitising content and the images in it;
- `readers`: who read a message, and its CSV.
"""
