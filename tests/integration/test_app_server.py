"""The HTTP server (app.server): kept-alive connections and their follow-up requests."""
import http.client
import multiprocessing
import socket
import time

import pytest

from app import server as app_server

from app_helpers import free_port

# wider than the server's default, so that a loaded test machine cannot miss it
FOLLOW_UP_S = 0.5


def _serve(port: int) -> None:
    """In the forked server process: count the connection hand-backs to gunicorn's poller."""
    app_server.FOLLOW_UP_S = FOLLOW_UP_S
    handed_back = []
    finish = app_server.IronwatchThreadWorker.finish_request

    def counting_finish(self, conn, fs):
        handed_back.append(1)
        return finish(self, conn, fs)

    app_server.IronwatchThreadWorker.finish_request = counting_finish

    def app(environ, start_response):
        environ["wsgi.input"].read()
        body = str(len(handed_back)).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    app_server.SingleWorkerServer(lambda: app, "127.0.0.1", port, threads=4, log_level="warning").run()


@pytest.fixture()
def server_port():
    port = free_port()
    process = multiprocessing.get_context("fork").Process(target=_serve, args=(port,), daemon=True)
    process.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    time.sleep(0.1)  # let the server finish with the readiness probe's connection
    yield port
    process.terminate()
    process.join(10)


def _post(connection: http.client.HTTPConnection, body: bytes = b"x" * 1000) -> int:
    connection.request("POST", "/upload", body=body)
    response = connection.getresponse()
    assert response.status == 200
    return int(response.read())


def test_back_to_back_requests_stay_on_their_thread_and_a_quiet_connection_goes_back(server_port):
    uploads = http.client.HTTPConnection("127.0.0.1", server_port, timeout=10)
    before = _post(uploads)  # hand-backs so far (the fixture's readiness probe)
    for _ in range(4):  # answered on the same thread: no hand-back to the poller in between
        _post(uploads)
    time.sleep(FOLLOW_UP_S + 0.3)  # quiet: the connection goes back to the poller
    probe = http.client.HTTPConnection("127.0.0.1", server_port, timeout=10)
    assert _post(probe) - before == 1  # five requests on `uploads`, one hand-back
    probe.close()
    # the quiet connection is picked up again from the poller and still served
    assert _post(uploads) >= 1
    uploads.close()


def _raw_exchange(port: int, request: bytes) -> tuple[int, str, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), headers.get("Content-Type", ""), body


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),           # request line past 4094 bytes
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431),  # over 100 headers
    (b"NOT A REQUEST\r\n\r\n", 400),
])
def test_requests_refused_by_gunicorn_itself_answer_json(server_port, request_bytes, status):
    import json

    code, content_type, body = _raw_exchange(server_port, request_bytes)
    assert code == status
    assert content_type == "application/json"
    answer = json.loads(body)
    assert answer["error"] and "refused before it reached the application" in answer["message"]
