package restproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Error is an HTTP error of the REST API: the status, the API's error_code
// (v2: the reference's five-digit codes; v3: the status) and a message.
type Error struct {
	Status  int
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

// v2 error codes of the reference REST Proxy.
const (
	codeTopicNotFound       = 40401
	codePartitionNotFound   = 40402
	codeInstanceNotFound    = 40403
	codeLeaderNotAvailable  = 40406
	codeNotAcceptableFormat = 40601
	codeAlreadySubscribed   = 40901
	codeInstanceExists      = 40902
	codeTooLarge            = 42201
	codeInvalidOffset       = 42202
	codeInvalidConsumerConf = 42204
	codeKafka               = 50002
	codeKafkaRetriable      = 50003
)

func errorf(status, code int, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// httpErr is an error whose error_code is its status (v3 and generic HTTP).
func httpErr(status int, format string, a ...any) *Error {
	return errorf(status, status, format, a...)
}

// kafkaErr turns an error from a Kafka request into an Error: a Kafka
// error code keeps its name in the message and maps to 50003 when
// retriable, 50002 otherwise; a timeout is 50003 as well.
func kafkaErr(what string, err error) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	var ke *kerr.Error
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return errorf(http.StatusNotFound, codeTopicNotFound, "%s: topic not found", what)
	case errors.As(err, &ke):
		if ke.Retriable {
			return errorf(http.StatusInternalServerError, codeKafkaRetriable, "%s: %s: %s", what, ke.Message, ke.Description)
		}
		return errorf(http.StatusInternalServerError, codeKafka, "%s: %s: %s", what, ke.Message, ke.Description)
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusInternalServerError, codeKafkaRetriable, "%s: no answer from the cluster in time", what)
	}
	return errorf(http.StatusInternalServerError, codeKafka, "%s: %v", what, err)
}

// codeTopicExists is the v3 answer to creating a topic that exists; v3
// keeps it, where every other code becomes the HTTP status.
const codeTopicExists = 40002

// v3Err makes e a v3 error: the error_code is the HTTP status.
func v3Err(e *Error) *Error {
	if e.Code == codeTopicExists {
		return e
	}
	return &Error{Status: e.Status, Code: e.Status, Message: e.Message}
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// writeError writes err as a JSON error body with content type ct. A
// non-*Error is an internal error.
func writeError(w http.ResponseWriter, ct string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = errorf(http.StatusInternalServerError, http.StatusInternalServerError*100, "%v", err)
	}
	writeJSON(w, ct, e.Status, errorBody{ErrorCode: e.Code, Message: e.Message})
}

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, ct string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{ErrorCode: 50000, Message: "encoding the response: " + err.Error()})
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// kerrOf is kerr.ErrorForCode that is nil for 0.
func kerrOf(code int16) error { return kerr.ErrorForCode(code) }
