/*
 * model.h
 *	  The coldstart.model type: server-side access and construction.
 */
#ifndef CS_MODEL_H
#define CS_MODEL_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "model_format.h"

/*
 * Validate a model datum and decode it into *m (pointers into the detoasted
 * value, which is returned).  Raises "invalid coldstart model: ..." with
 * ERRCODE_INVALID_BINARY_REPRESENTATION on any defect.
 */
extern struct varlena *cs_model_open(Datum datum, CsModel *m);

/* Same, for raw bytes already laid out as a varlena. */
extern void cs_model_open_varlena(struct varlena *v, CsModel *m);

/* Assemble a model from its header and sections. */
typedef struct CsModelBuilder
{
	CsModelHeader hdr;			/* dimensions: filled in by the caller */
	StringInfoData strings;		/* string pool, starts with "" */
	const void *data[CS_SEC_COUNT + 1];
	uint64		size[CS_SEC_COUNT + 1];
} CsModelBuilder;

extern void cs_builder_init(CsModelBuilder *b);
extern uint32 cs_builder_string(CsModelBuilder *b, const char *s);
extern void cs_builder_section(CsModelBuilder *b, int id, const void *data, uint64 size);

/* Bytes the finished model will take. */
extern uint64 cs_builder_total_size(CsModelBuilder *b);

/* The finished, validated value (palloc'd in the current context). */
extern struct varlena *cs_builder_finish(CsModelBuilder *b);

/*
 * Bytes a model of these dimensions takes (what cs_builder_finish() lays
 * out), from its header and the sizes of its string pool and options text;
 * training checks it against CS_MODEL_MAX_BYTES before it starts.
 */
extern uint64 cs_model_layout_size(const CsModelHeader *hdr, uint64 strings_bytes,
								   uint64 options_bytes);

/* Refuse, with the figures, a model larger than a coldstart.model can hold. */
extern void cs_model_check_size(uint64 bytes, const CsModelHeader *h);

/* Format a byte count for messages ("12 MB"). */
extern char *cs_format_bytes(uint64 bytes);

#endif							/* CS_MODEL_H */
