export { AddMembersBody, ConversationParams, ConversationResponse, ErrorBody, RenameBody } from "@parley/contract";
