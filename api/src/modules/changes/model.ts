export {
  ChangesPage,
  ChangesQuery,
  ConversationParams,
  EditMessageBody,
  ErrorBody,
  MessageParams,
  MessageResponse,
  ReactionBody,
} from "@parley/contract";
