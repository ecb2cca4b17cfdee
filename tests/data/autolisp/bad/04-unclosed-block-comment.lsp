;; expect: unclosed-comment
;| old version
(defun c:OLD () (princ))
(defun c:NEW () (princ "\nnew") (princ))
