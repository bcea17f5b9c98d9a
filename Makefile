# coldstart: PGXS build.  `make && make install`, then `CREATE EXTENSION coldstart`.
EXTENSION   = coldstart
MODULE_big  = coldstart
DATA        = $(wildcard coldstart--*.sql)
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
HEADERS     = $(wildcard src/*.h)

# Every file in sql/ is a pg_regress test; each one is self-contained.
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=plpgsql

# OpenBLAS, found with pkg-config; override with
#   make OPENBLAS_CFLAGS=-I/opt/openblas/include OPENBLAS_LIBS="-L/opt/openblas/lib -lopenblas"
OPENBLAS_CFLAGS ?= $(shell pkg-config --cflags openblas 2>/dev/null)
OPENBLAS_LIBS   ?= $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

PG_CPPFLAGS = $(OPENBLAS_CFLAGS) -Isrc
PG_CFLAGS   = -std=gnu99 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare $(if $(WERROR),-Werror)
SHLIB_LINK  = $(OPENBLAS_LIBS) -lm

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The model decoder built outside the server, for fuzzing (see bench/fuzz).
.PHONY: fuzz
fuzz:
	$(MAKE) -C bench/fuzz PG_CONFIG=$(PG_CONFIG)

# PGXS does not track header dependencies: rebuild everything when a header changes.
$(OBJS): $(HEADERS)
