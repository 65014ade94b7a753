"""Standard ITS messages: ETSI SPATEM and MAPEM (ISO TS 19091 profile of SAE J2735, UPER via
pycrate) converted from and to vicoop's SPaT and intersection model, and the GeoNetworking /
BTP-B capture files that Wireshark reads."""
