package protocol

import (
	"encoding/binary"
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
	b     []byte      // encoded bytes, except spliced record batches
	cuts  []splice    // record batches to write after b[:at], in order
	dones []func()    // hooks to run after the write
	size  int         // bytes queued: len(b) plus the spliced batches
	iov   net.Buffers // scratch for flush
	e0    []byte      // scratch for spliceFetch
	e1    []byte      // scratch for spliceFetch
	recs  []*[]byte   // scratch for spliceFetch
	saved [][]byte    // scratch for spliceFetch
}

type splice struct {
	at  int
	rec []byte
}

// Stand-ins for record batches while spliceFetch encodes; only ever read.
var spliceOne, spliceEmpty = []byte{0}, []byte{}

// minSpliceBytes is the smallest amount of record data worth splicing: below
// it, copying is cheaper than the extra encode spliceFetch does.
const minSpliceBytes = 16 << 10

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
		spliced = w.spliceFetch(fr)
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
func (w *responseWriter) spliceFetch(fr *kmsg.FetchResponse) int {
	w.recs, w.saved = w.recs[:0], w.saved[:0]
	total := 0
	for i := range fr.Topics {
		for j := range fr.Topics[i].Partitions {
			p := &fr.Topics[i].Partitions[j]
			if len(p.RecordBatches) > 0 {
				w.recs = append(w.recs, &p.RecordBatches)
				w.saved = append(w.saved, p.RecordBatches)
				total += len(p.RecordBatches)
			}
		}
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
		rec := w.saved[k]
		if prefix == 1 {
			w.b = binary.AppendUvarint(w.b, uint64(len(rec))+1)
		} else {
			w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(rec)))
		}
		w.cuts = append(w.cuts, splice{at: len(w.b), rec: rec})
		i++
		prev = i
	}
	w.b = append(w.b, e0[prev:]...)
	return total
}

// flush writes everything queued, runs the hooks and resets w.
func (w *responseWriter) flush(nc net.Conn) error {
	var err error
	if len(w.cuts) == 0 {
		_, err = nc.Write(w.b)
	} else {
		iov := w.iov[:0]
		prev := 0
		for _, c := range w.cuts {
			iov = append(iov, w.b[prev:c.at], c.rec)
			prev = c.at
		}
		iov = append(iov, w.b[prev:])
		w.iov = iov[:0]
		_, err = iov.WriteTo(nc) // consumes iov
		clear(w.iov[:cap(w.iov)])
	}
	for _, d := range w.dones {
		d()
	}
	clear(w.dones)
	clear(w.cuts)
	clear(w.saved[:cap(w.saved)])
	clear(w.recs[:cap(w.recs)])
	w.dones, w.cuts, w.size = w.dones[:0], w.cuts[:0], 0
	w.b = w.b[:0]
	if cap(w.b) > 8<<20 {
		w.b = nil // don't pin a huge fetch buffer on an idle connection
	}
	return err
}
