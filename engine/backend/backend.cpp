// The device registry: which backend serves a device (the CPU only, until a second backend
// registers), and storage handing its memory back to the backend that allocated it.
#include "engine/backend/backend.h"

namespace zg {

Storage::~Storage() {
    if (backend) backend->release(*this);
}

Backend& backend(Device d) {
    ZG_CHECK(d == Device::cpu, "backend: device '", device_name(d),
             "' is not available in this build");
    return cpu_backend();
}

}  // namespace zg
