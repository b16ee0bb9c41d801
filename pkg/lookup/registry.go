package lookup

// Options holds what the built-in handlers read. Any field may be left zero;
// the handlers that need it then fail with an error saying so.
type Options struct {
	// Stacks locates the config's stacks for output lookups: CloudFormation
	// name, profile and region of the stack named.
	Stacks func(name string) (StackRef, bool)
	// Qualify turns a config name into a CloudFormation name (the config's
	// FQN), for rxref.
	Qualify func(name string) string
	// Outputs reads stack outputs (output, xref, rxref).
	Outputs OutputReader
	// Environment is the stacker environment (env file and -e), for default.
	Environment map[string]any
	// Getenv reads the process environment for envvar; nil = os.LookupEnv.
	Getenv func(name string) (string, bool)
	// Files reads what file:// values name: Dir(the config's directory) as
	// stacker, or a reader confined to a bundle.
	Files FileReader
	// Clients builds AWS clients for ssmstore, kms, ami and dynamodb.
	Clients Clients
}

// NewRegistry returns the handlers of every lookup type stacker 1.7 ships,
// hook_data aside.
func NewRegistry(o Options) Registry {
	return Registry{
		"output":   OutputHandler{Stacks: o.Stacks, Reader: o.Outputs},
		"xref":     XrefHandler{Reader: o.Outputs},
		"rxref":    RxrefHandler{Qualify: o.Qualify, Reader: o.Outputs},
		"default":  DefaultHandler{Environment: o.Environment},
		"envvar":   EnvvarHandler{Files: o.Files, Getenv: o.Getenv},
		"file":     FileHandler{Files: o.Files},
		"split":    SplitHandler{},
		"ssmstore": SSMStoreHandler{Clients: o.Clients, Files: o.Files},
		"kms":      KMSHandler{Clients: o.Clients, Files: o.Files},
		"ami":      AMIHandler{Clients: o.Clients, Files: o.Files},
		"dynamodb": DynamoDBHandler{Clients: o.Clients, Files: o.Files},
	}
}
