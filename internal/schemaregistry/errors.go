package schemaregistry

import (
	"fmt"
	"net/http"
)

// Error is an HTTP error of the API: the status and Confluent's error_code
// and message, written as {"error_code":40401,"message":"..."}.
type Error struct {
	Status  int    `json:"-"`
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

func errorf(status, code int, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// The reference's error codes (Confluent's Errors class names).
func errSubjectNotFound(s string) *Error {
	return errorf(http.StatusNotFound, 40401, "Subject '%s' not found.", s)
}
func errVersionNotFound(v int) *Error {
	return errorf(http.StatusNotFound, 40402, "Version %d not found.", v)
}
func errSchemaNotFound() *Error {
	return errorf(http.StatusNotFound, 40403, "Schema not found")
}
func errSchemaIDNotFound(id int) *Error {
	return errorf(http.StatusNotFound, 40403, "Schema %d not found", id)
}
func errSubjectSoftDeleted(s string) *Error {
	return errorf(http.StatusNotFound, 40404, "Subject '%s' was soft deleted.Set permanent=true to delete permanently", s)
}
func errSubjectNotSoftDeleted(s string) *Error {
	return errorf(http.StatusNotFound, 40405, "Subject '%s' was not deleted first before being permanently deleted", s)
}
func errVersionSoftDeleted(s string, v int) *Error {
	return errorf(http.StatusNotFound, 40406, "Subject '%s' Version %d was soft deleted.Set permanent=true to delete permanently", s, v)
}
func errVersionNotSoftDeleted(s string, v int) *Error {
	return errorf(http.StatusNotFound, 40407, "Subject '%s' Version %d was not deleted first before being permanently deleted", s, v)
}
func errSubjectConfigNotFound(s string) *Error {
	return errorf(http.StatusNotFound, 40408, "Subject '%s' does not have subject-level compatibility configured", s)
}
func errSubjectModeNotFound(s string) *Error {
	return errorf(http.StatusNotFound, 40409, "Subject '%s' does not have subject-level mode configured", s)
}
func errInvalidSchema(format string, a ...any) *Error {
	return errorf(http.StatusUnprocessableEntity, 42201, format, a...)
}
func errInvalidVersion(v string) *Error {
	return errorf(http.StatusUnprocessableEntity, 42202,
		"The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", v)
}
func errInvalidCompatibility(l string) *Error {
	return errorf(http.StatusUnprocessableEntity, 42203,
		"Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive (got %q)", l)
}
func errInvalidMode(m string) *Error {
	return errorf(http.StatusUnprocessableEntity, 42204,
		"Invalid mode. Valid values are READWRITE, READONLY, IMPORT (got %q)", m)
}
func errNotPermitted(format string, a ...any) *Error {
	return errorf(http.StatusUnprocessableEntity, 42205, format, a...)
}
func errReferenceExists(format string, a ...any) *Error {
	return errorf(http.StatusUnprocessableEntity, 42206, format, a...)
}
func errStore(format string, a ...any) *Error {
	return errorf(http.StatusInternalServerError, 50001, format, a...)
}
func errTimeout(format string, a ...any) *Error {
	return errorf(http.StatusInternalServerError, 50002, format, a...)
}
