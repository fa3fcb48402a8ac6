package protocol

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the network layer's Prometheus metrics.
type Metrics struct {
	connections prometheus.Gauge
	requests    *prometheus.CounterVec
	closed      *prometheus.CounterVec
}

// NewMetrics registers the network metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "samsa", Subsystem: "network", Name: "connections",
			Help: "Open client connections.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "samsa", Subsystem: "network", Name: "requests_total",
			Help: "Requests received, by API.",
		}, []string{"api"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "samsa", Subsystem: "network", Name: "connections_closed_total",
			Help: "Connections closed by the broker, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.requests, m.closed)
	}
	return m
}
