package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

func buildBatch(t *testing.T, base int64, codec int8, kvs ...string) []byte {
	t.Helper()
	var b record.Builder
	f := record.NonIdempotent
	f.BaseOffset = base
	b.Reset(f)
	for i := 0; i < len(kvs); i += 2 {
		b.Append(1000+int64(i), []byte(kvs[i]), []byte(kvs[i+1]), []record.RecordHeader{{Key: "h", Value: []byte("x")}})
	}
	h, err := b.Finish(codec, 0)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), h...)
}

func TestDumpLog(t *testing.T) {
	dir := t.TempDir()
	seg := append(buildBatch(t, 0, record.CodecNone, "k1", "v1", "k2", "v2"), buildBatch(t, 2, record.CodecZstd, "k3", "v3")...)
	path := filepath.Join(dir, "00000000000000000000.log")
	if err := os.WriteFile(path, seg, 0o644); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := dumpFile(&out, path, true, true); err != nil {
		t.Fatal(err)
	}
	var got []dumpedBatch
	dec := json.NewDecoder(&out)
	for dec.More() {
		var b dumpedBatch
		if err := dec.Decode(&b); err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	if len(got) != 2 || got[0].BaseOffset != 0 || got[0].LastOffset != 1 || got[1].BaseOffset != 2 ||
		got[1].Codec != "zstd" || !got[0].Valid || !got[1].Valid || got[1].Position != len(seg)-got[1].Size {
		t.Fatalf("batches: %+v", got)
	}
	if r := got[1].Records; len(r) != 1 || r[0].Offset != 2 || *r[0].Key != "k3" || *r[0].Value != "v3" || r[0].Headers["h"] != "x" {
		t.Fatalf("records of the zstd batch: %+v", r)
	}

	// A torn tail is reported at the byte where it starts.
	torn := filepath.Join(dir, "00000000000000000002.log")
	os.WriteFile(torn, seg[:len(seg)-5], 0o644)
	out.Reset()
	if err := dumpFile(&out, torn, false, false); err != nil {
		t.Fatal(err)
	}
	if want := "torn batch at position " + strconv.Itoa(got[1].Position); !strings.Contains(out.String(), want) {
		t.Fatalf("want %q in:\n%s", want, out.String())
	}

	// A flipped byte shows as an invalid CRC.
	bad := append([]byte(nil), seg...)
	bad[len(bad)-2] ^= 0xff
	os.WriteFile(path, bad, 0o644)
	out.Reset()
	dumpFile(&out, path, false, false)
	if !strings.Contains(out.String(), "isvalid: false") {
		t.Fatalf("flipped byte not reported:\n%s", out.String())
	}

	if code := Main([]string{"dump-log", filepath.Join(dir, "x.txt")}); code != 1 && code != 2 {
		t.Fatalf("unknown file type: exit %d", code)
	}
}
