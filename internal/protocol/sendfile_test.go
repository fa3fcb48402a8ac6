package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

type testFile struct {
	f       *os.File
	off, n  int64
	changed bool
}

func (t *testFile) Fd() int         { return int(t.f.Fd()) }
func (t *testFile) Offset() int64   { return t.off }
func (t *testFile) Len() int64      { return t.n }
func (t *testFile) Unchanged() bool { return !t.changed }
func (t *testFile) ReadAt(b []byte, off int64) (int, error) {
	return io.NewSectionReader(t.f, t.off, t.n).ReadAt(b, off)
}

// fileResponse moves the record batches of some partitions of fr into a
// file, as the Fetch handler does with segment ranges, and returns the
// file splices. The file also holds bytes around them.
func fileResponse(t *testing.T, rng *rand.Rand, fr *kmsg.FetchResponse) []fileSplice {
	f, err := os.Create(filepath.Join(t.TempDir(), "seg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var files []fileSplice
	for i := range fr.Topics {
		for j := range fr.Topics[i].Partitions {
			p := &fr.Topics[i].Partitions[j]
			if len(p.RecordBatches) == 0 || rng.IntN(3) == 0 {
				continue
			}
			junk := make([]byte, rng.IntN(100))
			f.Write(junk)
			off, _ := f.Seek(0, io.SeekCurrent)
			f.Write(p.RecordBatches)
			files = append(files, fileSplice{topic: i, partition: j, f: &testFile{f: f, off: off, n: int64(len(p.RecordBatches))}})
			p.RecordBatches = []byte{}
		}
	}
	f.Seek(rng.Int64N(100), io.SeekStart) // the writer must not use the position
	return files
}

func expectedFrame(fr *kmsg.FetchResponse, corr int32) []byte {
	want := binary.BigEndian.AppendUint32(nil, uint32(corr))
	if fr.IsFlexible() {
		want = append(want, 0)
	}
	want = fr.AppendTo(want)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(want))), want...)
}

// writeOver flushes w to one end of a connection pair and returns what the
// other end read.
func writeOver(t *testing.T, a, b net.Conn, w *responseWriter) ([]byte, error) {
	got := make(chan []byte)
	go func() {
		buf, _ := io.ReadAll(b)
		got <- buf
	}()
	err := w.flush(a)
	a.Close()
	return <-got, err
}

func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return b, a
}

// TestSendFileMatchesCopy: a Fetch response with record batches sent from
// files is byte for byte the response encoded whole, over TCP (sendfile)
// and over a pipe (pread and write), classic and flexible versions.
func TestSendFileMatchesCopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, v := range []int16{4, 7, 11, 12, 13, 16, 17} {
		for _, pipe := range []bool{false, true} {
			for range 20 {
				fr := randomFetchResponse(rng, v)
				fr.Topics = append(fr.Topics, kmsg.FetchResponseTopic{Topic: "big", Partitions: []kmsg.FetchResponseTopicPartition{
					{Partition: 1, RecordBatches: bytes.Repeat([]byte{7, 0, 1}, 30<<10)},
				}})
				want := expectedFrame(fr, 9)
				files := fileResponse(t, rng, fr)
				if len(files) == 0 {
					continue
				}
				var a, b net.Conn
				if pipe {
					a, b = net.Pipe()
				} else {
					a, b = tcpPair(t)
					if !canSendFile(a) {
						t.Fatal("no sendfile on TCP")
					}
				}
				ran := false
				var w responseWriter
				w.add(outgoing{corr: 9, key: 1, flexible: fr.IsFlexible(), resp: fr, files: files, done: func() { ran = true }})
				if w.size != len(want) {
					t.Fatalf("v%d: size %d, want %d", v, w.size, len(want))
				}
				got, err := writeOver(t, a, b, &w)
				if err != nil {
					t.Fatalf("v%d: %v", v, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("v%d pipe=%v: %d bytes differ from the %d encoded whole", v, pipe, len(got), len(want))
				}
				if !ran || len(w.cuts) != 0 || len(w.b) != 0 {
					t.Fatal("writer not reset")
				}
			}
		}
	}
}

// TestSendFileSmallResponse: files in a response too small to splice are
// read into it and encoded whole.
func TestSendFileSmallResponse(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	fr := kmsg.NewPtrFetchResponse()
	fr.SetVersion(12)
	fr.Topics = []kmsg.FetchResponseTopic{{Topic: "t", Partitions: []kmsg.FetchResponseTopicPartition{
		{Partition: 0, RecordBatches: []byte("abc")}, {Partition: 1, RecordBatches: []byte("defgh")},
	}}}
	want := expectedFrame(fr, 3)
	var files []fileSplice
	for len(files) == 0 {
		files = fileResponse(t, rng, fr)
	}
	var w responseWriter
	w.add(outgoing{corr: 3, flexible: true, resp: fr, files: files})
	a, b := tcpPair(t)
	got, err := writeOver(t, a, b, &w)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%v: got %q, want %q", err, got, want)
	}
}

// TestSendFileChanged: a file that changed while it was sent fails the
// write (the connection then closes) rather than passing as good.
func TestSendFileChanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	fr := kmsg.NewPtrFetchResponse()
	fr.SetVersion(12)
	fr.Topics = []kmsg.FetchResponseTopic{{Topic: "t", Partitions: []kmsg.FetchResponseTopicPartition{
		{Partition: 0, RecordBatches: make([]byte, 40<<10)},
	}}}
	files := fileResponse(t, rng, fr)
	files[0].f.(*testFile).changed = true
	var w responseWriter
	w.add(outgoing{corr: 3, flexible: true, resp: fr, files: files})
	a, b := tcpPair(t)
	if _, err := writeOver(t, a, b, &w); !errors.Is(err, errFileChanged) {
		t.Fatalf("err %v", err)
	}
}
