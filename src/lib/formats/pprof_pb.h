/* pprof_pb.h: what pprof_read.c and pprof_write.c share: the C types protobuf-c
 * generates from profile.proto (build/gen/formats/profile.pb-c.h), by shorter names. */
#ifndef KILN_FORMATS_PPROF_PB_H
#define KILN_FORMATS_PPROF_PB_H
#include "formats/profile.pb-c.h"

typedef Perftools__Profiles__Profile PProfile;
typedef Perftools__Profiles__Sample PSample;
typedef Perftools__Profiles__Location PLocation;
typedef Perftools__Profiles__Function PFunction;
typedef Perftools__Profiles__Mapping PMapping;
typedef Perftools__Profiles__Line PLine;
typedef Perftools__Profiles__Label PLabel;
typedef Perftools__Profiles__ValueType PValueType;

#endif
