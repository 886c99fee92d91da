package httpapi

import (
	"encoding/json"
	"errors"
)

// apiOperation is one OpenAPI operation offered as its own tool.
type apiOperation struct{}

func (c *Connector) loadOpenAPI(string) error {
	return errors.New("not yet")
}

func (c *Connector) prepareAPI(*apiOperation, json.RawMessage) (*request, error) {
	return nil, errors.New("not yet")
}
