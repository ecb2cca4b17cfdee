;; expect: missing-vl-load-com
(defun c:WATCH ()
  (vlr-editor-reactor nil '((:vlr-commandEnded . on-end)))
  (princ)
)
(defun on-end (r p) (princ "\nended"))
