package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// responseWriter encodes queued responses into one write. Record batches of
// large Fetch responses are not copied into the encode buffer: they are
// spliced into the write as their own iovecs (writev through net.Buffers),
// which saves copying every fetched byte once in user space. The hooks of
// the responses (outgoing.done) run after the write, once the kernel has
// the bytes, since spliced batches live in the handler's buffers until then.
//
// Owned by the connection's writer goroutine.
type responseWriter struct {
	b     []byte       // encoded bytes, except spliced record batches
	cuts  []splice     // record batches to write after b[:at], in order
	dones []func()     // hooks to run after the write
	size  int          // bytes queued: len(b) plus the spliced batches
	iov   net.Buffers  // scratch for flush
	e0    []byte       // scratch for spliceFetch
	e1    []byte       // scratch for spliceFetch
	recs  []*[]byte    // scratch for spliceFetch
	saved [][]byte     // scratch for spliceFetch
	files []RecordFile // scratch for spliceFetch: saved[k] is in files[k] if non-nil
	copy  []byte       // scratch for sending files without sendfile
	err   error        // a response could not be encoded: fail the flush
}

// A splice is a record batch written after b[:at]: rec, or the bytes of
// file when that is set.
type splice struct {
	at   int
	rec  []byte
	file RecordFile
}

// Stand-ins for record batches while spliceFetch encodes; only ever read.
var spliceOne, spliceEmpty = []byte{0}, []byte{}

// minSpliceBytes is the smallest amount of record data worth splicing: below
// it, copying is cheaper than the extra encode spliceFetch does.
const minSpliceBytes = MinSpliceBytes

// MinSpliceBytes is the least record data of a Fetch response that the
// writer splices (or sends from files, Conn.SendFile) rather than copies.
const MinSpliceBytes = 16 << 10

// add encodes o, a frame: size, correlation id, header tags, body.
func (w *responseWriter) add(o outgoing) {
	start := len(w.b)
	w.b = append(w.b, 0, 0, 0, 0)
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(o.corr))
	if o.flexible {
		w.b = append(w.b, 0) // no tagged fields in the response header
	}
	spliced := -1
	if fr, ok := o.resp.(*kmsg.FetchResponse); ok {
		spliced = w.spliceFetch(fr, o.files)
		if spliced < 0 && len(o.files) > 0 {
			if err := readFiles(fr, o.files); err != nil && w.err == nil {
				w.err = err
			}
		}
	}
	if spliced < 0 {
		spliced = 0
		w.b = o.resp.AppendTo(w.b)
	}
	n := len(w.b) - start - 4 + spliced
	binary.BigEndian.PutUint32(w.b[start:], uint32(n))
	w.size += n + 4
	if o.done != nil {
		w.dones = append(w.dones, o.done)
	}
}

// spliceFetch appends fr without its record batches to w.b, queues the
// batches as splices and returns their total size; -1 means it did nothing
// and the caller encodes fr whole.
//
// kmsg cannot leave a field out, so the positions of the batches are found
// by encoding twice: e0 with every batch empty and e1 with every non-empty
// batch replaced by one byte. The two encodings agree except that, for each
// batch, the last byte of its length prefix differs (compact 0x01 vs 0x02,
// or int32 0 vs 1) and e1 has one more byte after it. Walking both finds
// each prefix exactly, whatever bytes the other fields hold.
//
// files (Conn.SendFile) stand in for the empty RecordBatches of their
// partitions; they are spliced as they are, never copied here.
func (w *responseWriter) spliceFetch(fr *kmsg.FetchResponse, files []fileSplice) int {
	w.recs, w.saved, w.files = w.recs[:0], w.saved[:0], w.files[:0]
	total := 0
	for i := range fr.Topics {
		for j := range fr.Topics[i].Partitions {
			p := &fr.Topics[i].Partitions[j]
			if len(files) > 0 && files[0].topic == i && files[0].partition == j {
				w.recs = append(w.recs, &p.RecordBatches)
				w.saved = append(w.saved, p.RecordBatches)
				w.files = append(w.files, files[0].f)
				total += int(files[0].f.Len())
				files = files[1:]
				continue
			}
			if len(p.RecordBatches) > 0 {
				w.recs = append(w.recs, &p.RecordBatches)
				w.saved = append(w.saved, p.RecordBatches)
				w.files = append(w.files, nil)
				total += len(p.RecordBatches)
			}
		}
	}
	if len(files) > 0 {
		return -1 // not in the response's order: readFiles sorts it out
	}
	if total < minSpliceBytes {
		return -1
	}
	for _, r := range w.recs {
		*r = spliceOne
	}
	w.e1 = fr.AppendTo(w.e1[:0])
	for _, r := range w.recs {
		*r = spliceEmpty
	}
	w.e0 = fr.AppendTo(w.e0[:0])
	for i, r := range w.recs {
		*r = w.saved[i]
	}
	e0, e1 := w.e0, w.e1
	if len(e1) != len(e0)+len(w.recs) {
		return -1
	}
	prefix := 4 // int32 length
	if fr.IsFlexible() {
		prefix = 1 // uvarint(0+1)
	}
	base := len(w.b)
	cuts := len(w.cuts)
	i, prev := 0, 0
	for k := range w.recs {
		for i < len(e0) && e0[i] == e1[i+k] {
			i++
		}
		if i == len(e0) || i+1 < prefix+prev {
			w.b, w.cuts = w.b[:base], w.cuts[:cuts]
			return -1
		}
		// e0[i] ends batch k's length prefix.
		w.b = append(w.b, e0[prev:i+1-prefix]...)
		rec, file := w.saved[k], w.files[k]
		n := len(rec)
		if file != nil {
			n = int(file.Len())
		}
		if prefix == 1 {
			w.b = binary.AppendUvarint(w.b, uint64(n)+1)
		} else {
			w.b = binary.BigEndian.AppendUint32(w.b, uint32(n))
		}
		w.cuts = append(w.cuts, splice{at: len(w.b), rec: rec, file: file})
		i++
		prev = i
	}
	w.b = append(w.b, e0[prev:]...)
	return total
}

// readFiles reads the files of a response into its RecordBatches, for when
// it has to be encoded whole.
func readFiles(fr *kmsg.FetchResponse, files []fileSplice) error {
	for _, f := range files {
		if f.topic >= len(fr.Topics) || f.partition >= len(fr.Topics[f.topic].Partitions) {
			return fmt.Errorf("record file for a partition not in the response (%d, %d)", f.topic, f.partition)
		}
		b := make([]byte, f.f.Len())
		if _, err := f.f.ReadAt(b, 0); err != nil {
			return err
		}
		if !f.f.Unchanged() {
			return errFileChanged
		}
		fr.Topics[f.topic].Partitions[f.partition].RecordBatches = b
	}
	return nil
}

var (
	errFileChanged = errors.New("record file truncated while it was sent")
	errShortFile   = fmt.Errorf("record file shorter than its range: %w", io.ErrUnexpectedEOF)
)

// flush writes everything queued, runs the hooks and resets w.
func (w *responseWriter) flush(nc net.Conn) error {
	err := w.err
	if err == nil {
		err = w.write(nc)
	}
	for _, d := range w.dones {
		d()
	}
	clear(w.dones)
	clear(w.cuts)
	clear(w.saved[:cap(w.saved)])
	clear(w.recs[:cap(w.recs)])
	clear(w.files[:cap(w.files)])
	w.dones, w.cuts, w.size, w.err = w.dones[:0], w.cuts[:0], 0, nil
	w.b = w.b[:0]
	if cap(w.b) > 8<<20 {
		w.b = nil // don't pin a huge fetch buffer on an idle connection
	}
	return err
}

// write writes w.b with the splices: batches in memory as iovecs of one
// writev, files with sendfile in between.
func (w *responseWriter) write(nc net.Conn) error {
	if len(w.cuts) == 0 {
		_, err := nc.Write(w.b)
		return err
	}
	defer func() { clear(w.iov[:cap(w.iov)]) }()
	iov := w.iov[:0]
	prev := 0
	for _, c := range w.cuts {
		iov = append(iov, w.b[prev:c.at])
		prev = c.at
		if c.file == nil {
			iov = append(iov, c.rec)
			continue
		}
		w.iov = iov[:0]
		if _, err := iov.WriteTo(nc); err != nil { // consumes iov
			return err
		}
		iov = w.iov[:0]
		if err := w.sendFile(nc, c.file); err != nil {
			return err
		}
	}
	iov = append(iov, w.b[prev:])
	w.iov = iov[:0]
	_, err := iov.WriteTo(nc)
	return err
}

// sendFile writes f to nc: with sendfile where it can, otherwise by pread
// and write. Either way it fails if f changed meanwhile, since the bytes
// sent may then not be the batches the response announced.
func (w *responseWriter) sendFile(nc net.Conn, f RecordFile) error {
	done, err := sendfile(nc, f)
	if err == nil && done < f.Len() {
		err = w.copyFile(nc, f, done)
	}
	if err == nil && !f.Unchanged() {
		err = errFileChanged
	}
	return err
}

// copyFile writes f from byte from on through w.copy.
func (w *responseWriter) copyFile(nc net.Conn, f RecordFile, from int64) error {
	if w.copy == nil {
		w.copy = make([]byte, 256<<10)
	}
	for off, end := from, f.Len(); off < end; {
		b := w.copy[:min(int64(len(w.copy)), end-off)]
		if _, err := f.ReadAt(b, off); err != nil {
			return err
		}
		if _, err := nc.Write(b); err != nil {
			return err
		}
		off += int64(len(b))
	}
	return nil
}
