"""HTTP routes of the allocation service: turn input into a use-case call, nothing more."""
