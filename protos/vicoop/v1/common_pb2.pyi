from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ObjectClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OBJECT_CLASS_UNSPECIFIED: _ClassVar[ObjectClass]
    OBJECT_CLASS_UNKNOWN: _ClassVar[ObjectClass]
    OBJECT_CLASS_PEDESTRIAN: _ClassVar[ObjectClass]
    OBJECT_CLASS_BICYCLE: _ClassVar[ObjectClass]
    OBJECT_CLASS_MOTORCYCLE: _ClassVar[ObjectClass]
    OBJECT_CLASS_CAR: _ClassVar[ObjectClass]
    OBJECT_CLASS_VAN: _ClassVar[ObjectClass]
    OBJECT_CLASS_TRUCK: _ClassVar[ObjectClass]
    OBJECT_CLASS_BUS: _ClassVar[ObjectClass]
    OBJECT_CLASS_TRAM: _ClassVar[ObjectClass]
    OBJECT_CLASS_ANIMAL: _ClassVar[ObjectClass]

class SensorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENSOR_KIND_UNSPECIFIED: _ClassVar[SensorKind]
    SENSOR_KIND_CAMERA: _ClassVar[SensorKind]
    SENSOR_KIND_RADAR: _ClassVar[SensorKind]
    SENSOR_KIND_LIDAR: _ClassVar[SensorKind]
    SENSOR_KIND_VEHICLE_REPORT: _ClassVar[SensorKind]
    SENSOR_KIND_SYNTHETIC: _ClassVar[SensorKind]
OBJECT_CLASS_UNSPECIFIED: ObjectClass
OBJECT_CLASS_UNKNOWN: ObjectClass
OBJECT_CLASS_PEDESTRIAN: ObjectClass
OBJECT_CLASS_BICYCLE: ObjectClass
OBJECT_CLASS_MOTORCYCLE: ObjectClass
OBJECT_CLASS_CAR: ObjectClass
OBJECT_CLASS_VAN: ObjectClass
OBJECT_CLASS_TRUCK: ObjectClass
OBJECT_CLASS_BUS: ObjectClass
OBJECT_CLASS_TRAM: ObjectClass
OBJECT_CLASS_ANIMAL: ObjectClass
SENSOR_KIND_UNSPECIFIED: SensorKind
SENSOR_KIND_CAMERA: SensorKind
SENSOR_KIND_RADAR: SensorKind
SENSOR_KIND_LIDAR: SensorKind
SENSOR_KIND_VEHICLE_REPORT: SensorKind
SENSOR_KIND_SYNTHETIC: SensorKind

class GeodeticOrigin(_message.Message):
    __slots__ = ("latitude_deg", "longitude_deg", "altitude_m")
    LATITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    ALTITUDE_M_FIELD_NUMBER: _ClassVar[int]
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    def __init__(self, latitude_deg: _Optional[float] = ..., longitude_deg: _Optional[float] = ..., altitude_m: _Optional[float] = ...) -> None: ...

class Vector3(_message.Message):
    __slots__ = ("x", "y", "z")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    z: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., z: _Optional[float] = ...) -> None: ...

class Point2(_message.Message):
    __slots__ = ("x_m", "y_m")
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    x_m: float
    y_m: float
    def __init__(self, x_m: _Optional[float] = ..., y_m: _Optional[float] = ...) -> None: ...

class Covariance3(_message.Message):
    __slots__ = ("xx", "xy", "xz", "yy", "yz", "zz")
    XX_FIELD_NUMBER: _ClassVar[int]
    XY_FIELD_NUMBER: _ClassVar[int]
    XZ_FIELD_NUMBER: _ClassVar[int]
    YY_FIELD_NUMBER: _ClassVar[int]
    YZ_FIELD_NUMBER: _ClassVar[int]
    ZZ_FIELD_NUMBER: _ClassVar[int]
    xx: float
    xy: float
    xz: float
    yy: float
    yz: float
    zz: float
    def __init__(self, xx: _Optional[float] = ..., xy: _Optional[float] = ..., xz: _Optional[float] = ..., yy: _Optional[float] = ..., yz: _Optional[float] = ..., zz: _Optional[float] = ...) -> None: ...

class ObjectSize(_message.Message):
    __slots__ = ("length_m", "width_m", "height_m")
    LENGTH_M_FIELD_NUMBER: _ClassVar[int]
    WIDTH_M_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_M_FIELD_NUMBER: _ClassVar[int]
    length_m: float
    width_m: float
    height_m: float
    def __init__(self, length_m: _Optional[float] = ..., width_m: _Optional[float] = ..., height_m: _Optional[float] = ...) -> None: ...
