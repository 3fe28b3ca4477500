from . import stock, views  # noqa: F401
