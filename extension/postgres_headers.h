/*
 * postgres_headers.h
 *    The PostgreSQL headers url_shortener uses, included with C linkage.
 *    PostgreSQL's headers do not declare extern "C" themselves.
 */
#ifndef URL_SHORTENER_POSTGRES_HEADERS_H
#define URL_SHORTENER_POSTGRES_HEADERS_H

extern "C" {
#include "postgres.h"

#include "access/detoast.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/resowner.h"
#include "access/table.h"
#include "storage/lockdefs.h"
}

#endif
