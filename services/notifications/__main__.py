"""``python -m services.notifications``: run the notifications service in the foreground."""

from vidnova.serve import serve

if __name__ == "__main__":
    serve("notifications")
