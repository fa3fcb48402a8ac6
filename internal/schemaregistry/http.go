package schemaregistry

import (
	"encoding/json"
	"errors"

	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// contentType is what every response carries, as the reference does.
const contentType = "application/vnd.schemaregistry.v1+json"

// handlerFunc is an API handler: it returns the response body or an error.
type handlerFunc func(w http.ResponseWriter, req *http.Request) (any, *Error)

func (r *Registry) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, fn handlerFunc) { mux.Handle(pattern, r.wrap(fn)) }
	h("GET /{$}", func(http.ResponseWriter, *http.Request) (any, *Error) { return struct{}{}, nil })
	h("GET /subjects", r.getSubjects)
	h("GET /subjects/{subject}/versions", r.getVersions)
	h("POST /subjects/{subject}/versions", r.postVersion)
	h("GET /subjects/{subject}/versions/{version}", r.getVersion)
	h("GET /subjects/{subject}/versions/{version}/schema", r.getVersionSchema)
	h("GET /subjects/{subject}/versions/{version}/referencedby", r.getReferencedBy)
	h("DELETE /subjects/{subject}/versions/{version}", r.deleteVersionH)
	h("POST /subjects/{subject}", r.postLookup)
	h("DELETE /subjects/{subject}", r.deleteSubjectH)
	h("GET /schemas/ids/{id}", r.getSchemaByID)
	h("GET /schemas/ids/{id}/schema", r.getSchemaTextByID)
	h("GET /schemas/ids/{id}/subjects", r.getSubjectsByID)
	h("GET /schemas/ids/{id}/versions", r.getVersionsByID)
	h("GET /schemas/types", func(http.ResponseWriter, *http.Request) (any, *Error) { return supportedTypes(), nil })
	h("GET /config", r.getConfig)
	h("PUT /config", r.putConfig)
	h("DELETE /config", r.deleteConfig)
	h("GET /config/{subject}", r.getConfig)
	h("PUT /config/{subject}", r.putConfig)
	h("DELETE /config/{subject}", r.deleteConfig)
	h("POST /compatibility/subjects/{subject}/versions/{version}", r.postCompatibility)
	h("POST /compatibility/subjects/{subject}/versions", r.postCompatibility)
	h("GET /mode", r.getMode)
	h("PUT /mode", r.putMode)
	h("DELETE /mode", r.deleteMode)
	h("GET /mode/{subject}", r.getMode)
	h("PUT /mode/{subject}", r.putMode)
	h("DELETE /mode/{subject}", r.deleteMode)
	h("GET /contexts", func(http.ResponseWriter, *http.Request) (any, *Error) { return []string{"."}, nil })
	h("/", func(_ http.ResponseWriter, req *http.Request) (any, *Error) {
		return nil, errorf(http.StatusNotFound, 404, "HTTP 404 Not Found")
	})
	return mux
}

// wrap limits the body, checks its content type and writes the result.
func (r *Registry) wrap(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body any
		var e *Error
		if req.Method == http.MethodPost || req.Method == http.MethodPut {
			e = checkContentType(req.Header.Get("Content-Type"))
			req.Body = http.MaxBytesReader(w, req.Body, r.cfg.MaxBodyBytes)
		}
		if e == nil {
			body, e = fn(w, req)
		}
		w.Header().Set("Content-Type", contentType)
		if e != nil {
			w.WriteHeader(e.Status)
			json.NewEncoder(w).Encode(e)
			return
		}
		if s, ok := body.(rawText); ok {
			w.Write([]byte(s))
			return
		}
		json.NewEncoder(w).Encode(body)
	})
}

// rawText is written as is (GET .../schema returns the schema text).
type rawText string

// checkContentType accepts what the reference accepts: its own types,
// application/json and application/octet-stream; an absent type is JSON.
func checkContentType(ct string) *Error {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
	case mt == "application/vnd.schemaregistry.v1+json", mt == "application/vnd.schemaregistry+json",
		mt == "application/json", mt == "application/octet-stream":
		return nil
	}
	return errorf(http.StatusUnsupportedMediaType, 415, "HTTP 415 Unsupported Media Type")
}

// decode reads a JSON body into v.
func decode(req *http.Request, v any) *Error {
	err := json.NewDecoder(req.Body).Decode(v)
	if err == nil {
		return nil
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return errorf(http.StatusRequestEntityTooLarge, 413, "Request body is larger than %d bytes", tooBig.Limit)
	case errors.As(err, &typeErr):
		return errorf(http.StatusUnprocessableEntity, 422, "Cannot deserialize field %q: %v", typeErr.Field, err)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, 400, "Request body is empty")
	}
	return errorf(http.StatusBadRequest, 400, "Malformed JSON: %v", err)
}

func boolParam(req *http.Request, name string) bool {
	b, _ := strconv.ParseBool(req.URL.Query().Get(name))
	return b
}

// subjectVersion is the JSON of one version.
type subjectVersion struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int         `json:"id"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
}

func toJSON(v *schemaValue) subjectVersion {
	return subjectVersion{Subject: v.Subject, Version: v.Version, ID: v.ID, SchemaType: v.SchemaType, References: v.References, Schema: v.Schema}
}

func (r *Registry) getSubjects(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	deleted := boolParam(req, "deleted")
	prefix := req.URL.Query().Get("subjectPrefix")
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []string{}
	for _, s := range r.st.sortedSubjects() {
		if strings.HasPrefix(s, prefix) && len(r.st.versionList(s, deleted)) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

func (r *Registry) getVersions(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	subject := req.PathValue("subject")
	r.mu.RLock()
	defer r.mu.RUnlock()
	vs := r.st.versionList(subject, boolParam(req, "deleted"))
	if len(vs) == 0 {
		return nil, errSubjectNotFound(subject)
	}
	return vs, nil
}

func (r *Registry) postVersion(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	var body registerRequest
	if e := decode(req, &body); e != nil {
		return nil, e
	}
	body.normalize = boolParam(req, "normalize")
	id, e := r.register(req.Context(), req.PathValue("subject"), body)
	if e != nil {
		return nil, e
	}
	return map[string]int{"id": id}, nil
}

func (r *Registry) getVersion(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, e := r.version(req.PathValue("subject"), req.PathValue("version"), boolParam(req, "deleted"))
	if e != nil {
		return nil, e
	}
	return toJSON(v), nil
}

func (r *Registry) getVersionSchema(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, e := r.version(req.PathValue("subject"), req.PathValue("version"), boolParam(req, "deleted"))
	if e != nil {
		return nil, e
	}
	return rawText(v.Schema), nil
}

func (r *Registry) getReferencedBy(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, e := r.version(req.PathValue("subject"), req.PathValue("version"), true)
	if e != nil {
		return nil, e
	}
	ids := r.st.referencedBy(v.Subject, v.Version)
	if ids == nil {
		ids = []int{}
	}
	return ids, nil
}

func (r *Registry) deleteVersionH(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	return r.deleteVersion(req.Context(), req.PathValue("subject"), req.PathValue("version"), boolParam(req, "permanent"))
}

func (r *Registry) deleteSubjectH(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	return r.deleteSubject(req.Context(), req.PathValue("subject"), boolParam(req, "permanent"))
}

func (r *Registry) postLookup(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	var body registerRequest
	if e := decode(req, &body); e != nil {
		return nil, e
	}
	body.normalize = boolParam(req, "normalize")
	v, e := r.lookup(req.PathValue("subject"), body, boolParam(req, "deleted"))
	if e != nil {
		return nil, e
	}
	return toJSON(v), nil
}

// byID returns the schema with the id in the path. Requires r.mu held.
func (r *Registry) byID(req *http.Request) (*schemaValue, *Error) {
	id, err := strconv.Atoi(req.PathValue("id"))
	if err != nil {
		return nil, errorf(http.StatusNotFound, 404, "HTTP 404 Not Found")
	}
	v, ok := r.st.byID[id]
	if !ok {
		return nil, errSchemaIDNotFound(id)
	}
	return v, nil
}

func (r *Registry) getSchemaByID(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, e := r.byID(req)
	if e != nil {
		return nil, e
	}
	return struct {
		SchemaType string      `json:"schemaType,omitempty"`
		References []Reference `json:"references,omitempty"`
		Schema     string      `json:"schema"`
	}{v.SchemaType, v.References, v.Schema}, nil
}

func (r *Registry) getSchemaTextByID(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, e := r.byID(req)
	if e != nil {
		return nil, e
	}
	return rawText(v.Schema), nil
}

// usages lists subject/versions using id. Requires r.mu held.
func (r *Registry) usages(id int, deleted bool) []*schemaValue {
	var out []*schemaValue
	for _, s := range r.st.sortedSubjects() {
		for _, ver := range r.st.versionList(s, deleted) {
			if v := r.st.subjects[s][ver]; v.ID == id {
				out = append(out, v)
			}
		}
	}
	return out
}

func (r *Registry) getSubjectsByID(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, e := r.byID(req)
	if e != nil {
		return nil, e
	}
	out := []string{}
	for _, u := range r.usages(v.ID, boolParam(req, "deleted")) {
		if len(out) == 0 || out[len(out)-1] != u.Subject {
			out = append(out, u.Subject)
		}
	}
	return out, nil
}

func (r *Registry) getVersionsByID(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, e := r.byID(req)
	if e != nil {
		return nil, e
	}
	type sv struct {
		Subject string `json:"subject"`
		Version int    `json:"version"`
	}
	out := []sv{}
	for _, u := range r.usages(v.ID, boolParam(req, "deleted")) {
		out = append(out, sv{u.Subject, u.Version})
	}
	return out, nil
}

func (r *Registry) getConfig(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	subject := req.PathValue("subject")
	r.mu.RLock()
	defer r.mu.RUnlock()
	if subject != "" && !boolParam(req, "defaultToGlobal") {
		c, ok := r.st.config[subject]
		if !ok {
			return nil, errSubjectConfigNotFound(subject)
		}
		return c, nil
	}
	return r.config(subject), nil
}

// configUpdate is the body of PUT /config and its answer (the config now
// stored at that level).
type configUpdate struct {
	Compatibility string `json:"compatibility,omitempty"`
	Normalize     *bool  `json:"normalize,omitempty"`
}

func (r *Registry) putConfig(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	var body configUpdate
	if e := decode(req, &body); e != nil {
		return nil, e
	}
	level := strings.ToUpper(body.Compatibility)
	if level == "" && body.Normalize == nil {
		return nil, errInvalidCompatibility(body.Compatibility)
	}
	c, e := r.setConfig(req.Context(), req.PathValue("subject"), &configValue{CompatibilityLevel: level, Normalize: body.Normalize})
	if e != nil {
		return nil, e
	}
	return configUpdate{Compatibility: c.CompatibilityLevel, Normalize: c.Normalize}, nil
}

func (r *Registry) deleteConfig(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	subject := req.PathValue("subject")
	r.mu.RLock()
	prev, ok := r.st.config[subject]
	if subject == "" {
		prev = r.config("")
	}
	r.mu.RUnlock()
	if !ok && subject != "" {
		return nil, errSubjectConfigNotFound(subject)
	}
	if _, e := r.setConfig(req.Context(), subject, nil); e != nil {
		return nil, e
	}
	return prev, nil
}

func (r *Registry) getMode(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	subject := req.PathValue("subject")
	r.mu.RLock()
	defer r.mu.RUnlock()
	mode := r.mode(subject)
	if subject != "" && !boolParam(req, "defaultToGlobal") {
		m, ok := r.st.mode[subject]
		if !ok {
			return nil, errSubjectModeNotFound(subject)
		}
		mode = m
	}
	return map[string]string{"mode": mode}, nil
}

func (r *Registry) putMode(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	var body struct {
		Mode string `json:"mode"`
	}
	if e := decode(req, &body); e != nil {
		return nil, e
	}
	mode := strings.ToUpper(body.Mode)
	if mode == "" {
		return nil, errInvalidMode(body.Mode)
	}
	if e := r.setMode(req.Context(), req.PathValue("subject"), mode, boolParam(req, "force")); e != nil {
		return nil, e
	}
	return map[string]string{"mode": mode}, nil
}

func (r *Registry) deleteMode(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	subject := req.PathValue("subject")
	r.mu.RLock()
	prev, ok := r.st.mode[subject]
	if !ok && subject == "" {
		prev = r.mode("")
	}
	r.mu.RUnlock()
	if !ok && subject != "" {
		return nil, errSubjectModeNotFound(subject)
	}
	if e := r.setMode(req.Context(), subject, "", false); e != nil {
		return nil, e
	}
	return map[string]string{"mode": prev}, nil
}

func (r *Registry) postCompatibility(_ http.ResponseWriter, req *http.Request) (any, *Error) {
	var body registerRequest
	if e := decode(req, &body); e != nil {
		return nil, e
	}
	subject, ver := req.PathValue("subject"), req.PathValue("version")
	r.mu.RLock()
	defer r.mu.RUnlock()
	parsed, _, e := r.parse(body.SchemaType, body.Schema, body.References, r.normalizes(subject, boolParam(req, "normalize")))
	if e != nil {
		return nil, e
	}
	level := r.level(subject)
	var against []*schemaValue
	if ver == "" {
		against = r.liveVersions(subject) // every version the level names
	} else {
		v, e := r.version(subject, ver, false)
		if e != nil {
			return nil, e
		}
		against = []*schemaValue{v}
	}
	reasons := r.incompatible(level, typeOf(strings.ToUpper(body.SchemaType)), parsed, against)
	out := map[string]any{"is_compatible": len(reasons) == 0}
	if boolParam(req, "verbose") {
		if reasons == nil {
			reasons = []string{}
		}
		out["messages"] = reasons
	}
	return out, nil
}
