"""The client the article's server was written for, as the project renders it.

`python3 article_client.py [HOST] [PORT]` (default 127.0.0.1 1234): print the welcome,
send three names one at a time, printing each reply, then send `exit` and close.
Like the article, it takes each recv(1024) to be one whole message.
"""

import socket
import sys

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 1234

# ANCHOR: client
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect((HOST, PORT))
print(s.recv(1024).decode('utf-8'))
for name in [b'Michael', b'Tracy', b'Sarah']:
    s.send(name)
    print(s.recv(1024).decode('utf-8'))
s.send(b'exit')
s.close()
# ANCHOR_END: client
