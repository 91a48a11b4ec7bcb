"""The article's TCP session server, as the project renders it in Python.

It follows the article line by line, flaws included, so the book can set it beside
lesson 03 and so tests can check that the Rust client speaks its protocol. Two changes
only, each marked CHANGED: the accept loop uses the listening socket's real name (the
article calls `s.accept()` on a name it never defined), and the port and pause can be
given on the command line (`python3 article_server.py [PORT] [PAUSE_SECONDS]`, default
1234 and 1) so tests can run it on a free port and without waiting.
"""

import socket
import sys
import threading
import time

# CHANGED: settable, for tests; the article fixes port 1234 and a 1 s pause.
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 1234
PAUSE = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0


# ANCHOR: session
def session(sock, addr):
    print('Welcome new client %s:%s...' % addr, flush=True)
    sock.send(b'Welcome!')  # send() may send only part; sendall() would send it all
    while True:
        data = sock.recv(1024)  # one recv is not one message: TCP is a byte stream
        time.sleep(PAUSE)
        if not data or data.decode('utf-8') == 'exit':  # raises on invalid UTF-8
            break
        sock.send(('Hello, %s!' % data.decode('utf-8')).encode('utf-8'))
    sock.close()
    print('Connection from %s:%s closed.' % addr, flush=True)
# ANCHOR_END: session


# ANCHOR: main
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(('127.0.0.1', PORT))
server.listen(5)
# CHANGED: the article prints only the second line; tests read the real port here.
print('listening on %s:%s' % server.getsockname(), flush=True)
print('Waiting for connection...', flush=True)
while True:
    sock, addr = server.accept()  # CHANGED: the article wrote s.accept()
    t = threading.Thread(target=session, args=(sock, addr))
    t.start()
# ANCHOR_END: main
