"""The rotation function's code (handler.py), zipped with pg8000 by components/db_rotation.py."""
