"""The Socket.IO server: who a connection is, and which rooms it is in.

``server.py`` is the way in (``init_app``, the Socket.IO handlers); ``handshake.py`` says who
connects, ``connections.py`` holds this process's connections, ``rooms.py`` puts them in
rooms, ``control.py`` applies other processes' changes to them, and ``recheck.py`` closes
those whose token ran out.
"""
