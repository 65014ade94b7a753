"""vicoop: the shared core of the stack (domain types, codecs, geodesy, configuration) and the
``vicoop`` command line. Each role lives in its own package: ``roadside``, ``vehicle``,
``cloud``, ``hil``; the protobuf contract in ``protos``."""

__version__ = "0.1.0"
