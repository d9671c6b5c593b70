// gin: release mode, gin.New() (no logger, no recovery middleware), as published.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"runtime"
	"strconv"

	"github.com/gin-gonic/gin"
)

var body = []byte("Hello")

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 8080, "TCP port")
	threads := flag.Int("threads", runtime.NumCPU(), "GOMAXPROCS")
	flag.Parse()
	runtime.GOMAXPROCS(*threads)

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// c.Data rather than the published c.String: c.String sends
	// "text/plain; charset=utf-8", a longer response than the other systems'.
	r.GET("/", func(c *gin.Context) {
		c.Data(http.StatusOK, "text/plain", body)
	})
	addr := net.JoinHostPort(*host, strconv.Itoa(*port))
	log.Fatal(http.ListenAndServe(addr, r))
}
