"""Services: one function = one use case = one unit of work = one transaction."""
