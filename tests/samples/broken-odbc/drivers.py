"""List the ODBC drivers this machine has (pyodbc loads libodbc.so.2)."""

import pyodbc

print(pyodbc.drivers())
