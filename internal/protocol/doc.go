// Package protocol is samsa's Kafka network layer: listeners, size-prefixed
// frames, request headers (v0-v2, KIP-482 flexible versions) and the
// per-connection loop. It knows nothing about what requests mean; it decodes
// them with franz-go's kmsg and hands them to a Handler.
//
// # Goroutines
//
// Server.Serve runs one accept loop per listener. Each accepted connection
// gets two goroutines, both owned by the Server and waited for in Close:
//
//   - the reader reads a frame, parses the header, decodes the body and calls
//     the Handler, one request at a time, in arrival order (Kafka mutes a
//     channel while a request is in flight; so do we, which is what keeps
//     responses ordered without sequence numbers);
//   - the writer encodes responses and writes them, in the order the reader
//     queued them. The queue is bounded, so a client that stops reading
//     its responses stops having its requests read (backpressure). Record
//     batches of large Fetch responses are not copied: they go out as their
//     own iovecs (write.go), so a response's memory is in use until its
//     write returns; a handler that recycles that memory registers
//     Conn.AfterWrite, which runs then.
//
// Clients may pipeline: they can send many requests before reading any
// response; the socket buffers them and the reader takes them in order.
//
// # Errors
//
// A frame larger than socket.request.max.bytes, a frame whose header cannot
// be parsed, an unknown API key or a body that does not decode closes that
// one connection with a log line; every other connection keeps being served.
// ApiVersions with a version we do not know is answered with a v0 response
// carrying UNSUPPORTED_VERSION and our version list, as Kafka does (KIP-511).
// A Handler returning a Go error also closes the connection; failures that
// belong to the client are Kafka error codes inside the response.
//
// # Shutdown
//
// Close stops accepting, stops reading new requests, lets requests in flight
// finish (their handlers see ctx cancelled, so long polls return early),
// flushes their responses and closes the sockets.
package protocol
