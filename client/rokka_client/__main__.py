from rokka_client.cli import run

run()
