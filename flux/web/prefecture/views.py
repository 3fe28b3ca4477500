"""The prefecture's pages: the département's console, the État's conventions."""
