"""Look a user up in the directory (python-ldap compiles against libldap)."""

import ldap

print(ldap.__version__)
