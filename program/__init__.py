"""The Pulumi program: stack config -> manifest -> platform -> exports. Only this package reads config."""
