"""``python -m services.requests``: run the requests service in the foreground."""

from vidnova.serve import serve

if __name__ == "__main__":
    serve("requests")
