"""The roadside unit (RSU) daemon: sensor ingest, fusion and tracking, and streaming to vehicles."""
