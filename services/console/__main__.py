"""``python -m services.console``: run the console in the foreground."""

from vidnova.serve import serve

if __name__ == "__main__":
    serve("console")
