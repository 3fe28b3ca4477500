"""Scheduled work (design.md §1, issue 6): jobs that call services, run by one separate
process (`flux scheduler run`), never inside web workers."""
