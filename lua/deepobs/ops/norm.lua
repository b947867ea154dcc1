-- Lua bindings of src/api/norm.h (to be written).
return {}
