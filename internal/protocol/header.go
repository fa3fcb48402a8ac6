package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// RequestHeader is a parsed Kafka request header (v0-v2).
type RequestHeader struct {
	APIKey        int16
	APIVersion    int16
	CorrelationID int32
	ClientID      string // "" when null
}

var errShortHeader = errors.New("request header is truncated")

// parseHeader parses a request header from a frame body and returns the
// header and the request body that follows it. flexible says whether the
// header carries tagged fields (request header v2), which depends on the
// API and version, so the caller passes a function to decide it once the key
// and version are known.
func parseHeader(b []byte, flexible func(key, version int16) bool) (RequestHeader, []byte, error) {
	var h RequestHeader
	if len(b) < 8 {
		return h, nil, errShortHeader
	}
	h.APIKey = int16(binary.BigEndian.Uint16(b[0:]))
	h.APIVersion = int16(binary.BigEndian.Uint16(b[2:]))
	h.CorrelationID = int32(binary.BigEndian.Uint32(b[4:]))
	b = b[8:]
	// Every request header from v1 on has a nullable client id; only
	// ControlledShutdown v0 used header v0, and no client sends it.
	if len(b) < 2 {
		return h, nil, errShortHeader
	}
	n := int16(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n >= 0 {
		if len(b) < int(n) {
			return h, nil, errShortHeader
		}
		h.ClientID = string(b[:n])
		b = b[n:]
	} else if n != -1 {
		return h, nil, fmt.Errorf("client id length %d is invalid", n)
	}
	if flexible(h.APIKey, h.APIVersion) {
		var err error
		if b, err = skipTags(b); err != nil {
			return h, nil, err
		}
	}
	return h, b, nil
}

// skipTags skips a KIP-482 tagged field section.
func skipTags(b []byte) ([]byte, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, errShortHeader
	}
	b = b[n:]
	for i := uint64(0); i < count; i++ {
		if _, n = binary.Uvarint(b); n <= 0 {
			return nil, errShortHeader
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < size {
			return nil, errShortHeader
		}
		b = b[n+int(size):]
	}
	return b, nil
}

// requestFlexible reports whether key at version uses the flexible (v2)
// request header, from kmsg's generated knowledge of each API. It is a table
// lookup: building a request per frame to ask would allocate on every request.
func requestFlexible(key, version int16) bool {
	if key < 0 || int(key) >= len(flexibleFrom) {
		return false
	}
	v := flexibleFrom[key]
	return v >= 0 && version >= v
}

// flexibleFrom is, per API key, the first version with a flexible request
// header, or -1 if none (or the key is unknown). Versions only ever become
// flexible from some version on (KIP-482).
var flexibleFrom = func() []int16 {
	var t []int16
	for key := int16(0); ; key++ {
		r := kmsg.RequestForKey(key)
		if r == nil {
			if key > kmsg.MaxKey {
				return t
			}
			t = append(t, -1)
			continue
		}
		from := int16(-1)
		for v := int16(0); v <= r.MaxVersion(); v++ {
			r.SetVersion(v)
			if r.IsFlexible() {
				from = v
				break
			}
		}
		t = append(t, from)
	}
}()
