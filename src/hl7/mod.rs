//! Sans-io HL7 v2 ER7 parser.
