"""``python -m services.allocation``: run the allocation service in the foreground."""

from vidnova.serve import serve

if __name__ == "__main__":
    serve("allocation")
