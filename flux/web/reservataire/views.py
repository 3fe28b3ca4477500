"""The reserver's pages: its rights as of a date with the monthly chart, the dwellings awaiting
its candidates, its bilans."""
