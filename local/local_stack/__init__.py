"""The local stack: moto on 127.0.0.1 with the resources of the synthesized template, and a local Lambda runner."""
