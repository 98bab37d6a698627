// Builds the pinned Dapr runtime binaries (daprd, placement, scheduler) from the
// Go module proxy. dapr's own go.mod carries replace directives, so
// `go install github.com/dapr/dapr/cmd/daprd@vX` is refused; this module requires
// dapr at the pinned release and repeats that release's replace block.
// Keep DAPR_VERSION in runtime/versions.env equal to the version below.
//
// Why 1.18.2 and not 1.18.3: 1.18.3 needs github.com/dapr/durabletask-go v0.12.4 and
// 1.18.1 needs github.com/diagridio/go-etcd-cron v0.12.5, which the module proxy
// refuses here; every module 1.18.2 needs is served.
module progress-service/dapr-build

go 1.26.5

require github.com/dapr/dapr v1.18.2

// Copied from the replace blocks at the bottom of github.com/dapr/dapr@v1.18.2/go.mod.
replace (
	dubbo.apache.org/dubbo-go/v3 => dubbo.apache.org/dubbo-go/v3 v3.0.3-0.20230118042253-4f159a2b38f3
	gopkg.in/couchbaselabs/gocbconnstr.v1 => github.com/couchbaselabs/gocbconnstr v1.0.5
)

replace (
	github.com/chenzhuoyu/iasm => github.com/chenzhuoyu/iasm v0.9.0
	github.com/chzyer/logex => github.com/chzyer/logex v1.2.1
	github.com/gobwas/pool => github.com/gobwas/pool v0.2.1
	github.com/toolkits/concurrent => github.com/niean/gotools v0.0.0-20151221085310-ff3f51fc5c60
)
