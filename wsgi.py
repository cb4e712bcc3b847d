from komet import create_app

app = create_app()
