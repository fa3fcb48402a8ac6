package cli

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/samsa-io/samsa/internal/record"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newDumpLogCmd) }

func newDumpLogCmd() *cobra.Command {
	var (
		printRecords bool
		format       string
	)
	cmd := &cobra.Command{
		Use:   "dump-log FILE...",
		Short: "Print the batches of log segments and the entries of their indexes (like kafka-dump-log.sh)",
		Long: `Print what is inside partition files, read directly from disk (the server
need not run): for a .log segment every record batch with its offsets,
producer fields, codec, size and whether its CRC is valid; with
--print-records every record's offset, timestamp, key, value and headers.
For .index and .timeindex files, every entry. A damaged tail is reported
with the byte position where it starts, which is what recovery would cut.`,
		Example: `  samsa dump-log samsa-data/orders-0/00000000000000000000.log
  samsa dump-log --print-records samsa-data/orders-0/00000000000000000000.log
  samsa dump-log samsa-data/orders-0/00000000000000000000.index
  samsa dump-log -o json samsa-data/orders-0/*.log | jq .`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usagef("invalid --format %q (want text or json)", format)
			}
			out := cmd.OutOrStdout()
			for _, f := range args {
				if err := dumpFile(out, f, printRecords, format == "json"); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&printRecords, "print-records", false, "also print every record (decompressing batches)")
	cmd.Flags().StringVarP(&format, "format", "o", "text", "output format: text or json (one object per line)")
	return cmd
}

func dumpFile(out io.Writer, path string, printRecords, asJSON bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	base, _ := strconv.ParseInt(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), 10, 64)
	if !asJSON {
		fmt.Fprintf(out, "Dumping %s\n", path)
	}
	switch filepath.Ext(path) {
	case ".log":
		return dumpSegment(out, data, printRecords, asJSON)
	case ".index":
		return dumpIndex(out, data, 8, asJSON, func(e []byte) (string, int64, string, int64) {
			return "offset", base + int64(binary.BigEndian.Uint32(e)), "position", int64(binary.BigEndian.Uint32(e[4:]))
		})
	case ".timeindex":
		return dumpIndex(out, data, 12, asJSON, func(e []byte) (string, int64, string, int64) {
			return "timestamp", int64(binary.BigEndian.Uint64(e)), "offset", base + int64(binary.BigEndian.Uint32(e[8:]))
		})
	}
	return usagef("%s: unknown file type (want .log, .index or .timeindex)", path)
}

var codecNames = map[int8]string{0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}

type dumpedBatch struct {
	BaseOffset           int64          `json:"base_offset"`
	LastOffset           int64          `json:"last_offset"`
	Count                int32          `json:"count"`
	BaseSequence         int32          `json:"base_sequence"`
	LastSequence         int32          `json:"last_sequence"`
	ProducerID           int64          `json:"producer_id"`
	ProducerEpoch        int16          `json:"producer_epoch"`
	PartitionLeaderEpoch int32          `json:"partition_leader_epoch"`
	Transactional        bool           `json:"is_transactional"`
	Control              bool           `json:"is_control"`
	Position             int            `json:"position"`
	TimestampType        string         `json:"timestamp_type"`
	MaxTimestamp         int64          `json:"max_timestamp"`
	Size                 int            `json:"size"`
	Codec                string         `json:"compresscodec"`
	CRC                  uint32         `json:"crc"`
	Valid                bool           `json:"isvalid"`
	Records              []dumpedRecord `json:"records,omitempty"`
}

type dumpedRecord struct {
	Offset    int64             `json:"offset"`
	Timestamp int64             `json:"timestamp"`
	Key       *string           `json:"key"`
	Value     *string           `json:"payload"`
	Headers   map[string]string `json:"headers,omitempty"`
}

func dumpSegment(out io.Writer, data []byte, printRecords, asJSON bool) error {
	pos, batches := 0, 0
	enc := json.NewEncoder(out)
	for len(data) > 0 {
		h, rest, err := record.Next(data)
		if err != nil {
			msg := fmt.Sprintf("damaged tail at position %d (%d bytes): %v", pos, len(data), err)
			if errors.Is(err, record.ErrTruncated) {
				msg = fmt.Sprintf("torn batch at position %d (%d bytes left): %v", pos, len(data), err)
			}
			if asJSON {
				enc.Encode(map[string]any{"error": msg, "position": pos})
			} else {
				fmt.Fprintln(out, msg)
			}
			return nil
		}
		b := dumpedBatch{
			BaseOffset: h.BaseOffset(), LastOffset: h.LastOffset(), Count: h.RecordCount(),
			BaseSequence: h.BaseSequence(), LastSequence: h.LastSequence(), ProducerID: h.ProducerID(),
			ProducerEpoch: h.ProducerEpoch(), PartitionLeaderEpoch: h.PartitionLeaderEpoch(),
			Transactional: h.Transactional(), Control: h.Control(), Position: pos, TimestampType: "CreateTime",
			MaxTimestamp: h.MaxTimestamp(), Size: h.Size(), Codec: codecNames[h.Codec()], CRC: h.CRC(), Valid: h.ValidCRC(),
		}
		if h.LogAppendTime() {
			b.TimestampType = "LogAppendTime"
		}
		var recErr error
		if printRecords && b.Valid {
			recErr = record.ForEachRecord(h, func(r *record.Record) error {
				dr := dumpedRecord{Offset: h.BaseOffset() + int64(r.OffsetDelta), Timestamp: h.BaseTimestamp() + r.TimestampDelta,
					Key: strPtr(r.Key), Value: strPtr(r.Value)}
				if h.LogAppendTime() {
					dr.Timestamp = h.MaxTimestamp()
				}
				for _, hd := range r.Headers {
					if dr.Headers == nil {
						dr.Headers = map[string]string{}
					}
					dr.Headers[hd.Key] = string(hd.Value)
				}
				b.Records = append(b.Records, dr)
				return nil
			})
		}
		if asJSON {
			if err := enc.Encode(b); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(out, "baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %t isControl: %t position: %d %s: %d size: %d magic: 2 compresscodec: %s crc: %d isvalid: %t\n",
				b.BaseOffset, b.LastOffset, b.Count, b.BaseSequence, b.LastSequence, b.ProducerID, b.ProducerEpoch,
				b.PartitionLeaderEpoch, b.Transactional, b.Control, b.Position, b.TimestampType, b.MaxTimestamp, b.Size, b.Codec, b.CRC, b.Valid)
			for _, r := range b.Records {
				fmt.Fprintf(out, "| offset: %d %s: %d key: %s payload: %s headers: %v\n", r.Offset, b.TimestampType, r.Timestamp, deref(r.Key), deref(r.Value), r.Headers)
			}
		}
		if recErr != nil {
			fmt.Fprintf(out, "records of the batch at position %d do not decode: %v\n", pos, recErr)
		}
		pos += h.Size()
		data = rest
		batches++
	}
	if !asJSON {
		fmt.Fprintf(out, "%d batches, %d bytes\n", batches, pos)
	}
	return nil
}

func dumpIndex(out io.Writer, data []byte, size int, asJSON bool, entry func([]byte) (string, int64, string, int64)) error {
	enc := json.NewEncoder(out)
	for i := 0; i+size <= len(data); i += size {
		e := data[i : i+size]
		if i > 0 && allZero(e) {
			break // preallocated, unused space
		}
		k1, v1, k2, v2 := entry(e)
		if asJSON {
			enc.Encode(map[string]int64{k1: v1, k2: v2})
		} else {
			fmt.Fprintf(out, "%s: %d %s: %d\n", k1, v1, k2, v2)
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func strPtr(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
