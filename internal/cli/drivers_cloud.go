//go:build cloud

package cli

// Google Cloud Storage (gs://) and Azure Blob Storage (azblob://) double the
// size of the binary, so they are built only with: go build -tags cloud
import (
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"
)
